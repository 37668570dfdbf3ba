/**
 * GET /healthz for a service manager or a load balancer: 200 with the worker's last poll and
 * counts while it can reach the PACS, 503 once the PACS has been unreachable for longer than the
 * configured grace (a blip inside one retry budget should not page anyone).
 */
import { createServer, type Server } from 'node:http';

export interface HealthSnapshot {
  readonly healthy: boolean;
  readonly body: Record<string, unknown>;
}

export function startHealthServer(port: number, host: string, snapshot: () => HealthSnapshot): Promise<Server> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0];
    if (request.method !== 'GET' || path !== '/healthz') {
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: `no ${request.method} ${path}; try GET /healthz` }));
      return;
    }
    const { healthy, body } = snapshot();
    response.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    response.end(JSON.stringify(body));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
