// Loopback listening for test servers: bind, pick or probe a port, close with open keep-alive
// connections. Everything binds 127.0.0.1 only (tests and the demo never leave the machine).
import type http from "node:http";
import net from "node:net";

export function listen(server: http.Server, port = 0): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
}

/** Closes `server` without waiting for idle keep-alive connections to time out. */
export async function closeServer(server: http.Server | undefined): Promise<void> {
  if (!server || !server.listening) return;
  await new Promise<void>((r) => {
    server.close(() => r());
    server.closeAllConnections();
  });
}

/** A port that was free on 127.0.0.1 a moment ago (the OS's pick for port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Whether `port` can be bound on 127.0.0.1 right now. */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}
