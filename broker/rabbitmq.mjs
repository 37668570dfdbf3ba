/**
 * Runs Debian's RabbitMQ as a plain process on loopback, for development (`node broker/rabbitmq.mjs`)
 * and for the tests (test/pacs/broker*.test.mjs), as pacs/orthanc.mjs runs Orthanc.
 *
 * Everything the node keeps lives in one directory: its Mnesia database and quorum-queue logs
 * (RABBITMQ_MNESIA_BASE), its log (RABBITMQ_LOG_BASE), its config (RABBITMQ_CONFIG_FILE), its
 * Erlang cookie (HOME) and no plugins. Its AMQP listener, its distribution port and its own epmd
 * are on loopback ports picked here, so several nodes (several test files, several developers) run
 * side by side and none touches a system RabbitMQ. The guest user may connect from loopback only,
 * which is RabbitMQ's default and all the tests need.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort } from '../pacs/orthanc.mjs';

export const RABBITMQ_SERVER = process.env.RABBITMQ_SERVER || '/usr/lib/rabbitmq/bin/rabbitmq-server';
const EPMD = '/usr/bin/epmd';

export function checkRabbitMQInstalled() {
  if (!existsSync(RABBITMQ_SERVER)) throw new Error(`RabbitMQ is not installed (missing ${RABBITMQ_SERVER}): apt-get install --no-install-recommends rabbitmq-server, or run scripts/setup.sh`);
}

/** Resolves once the AMQP port accepts a connection and speaks AMQP, or rejects with the log's tail. */
async function waitUntilUp(port, child, logFile, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    const ok = await new Promise(resolve => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => socket.write(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1')));
      socket.once('data', data => {
        socket.destroy();
        resolve(data[0] === 1); // a Connection.Start method frame
      });
      socket.once('error', () => resolve(false));
      socket.setTimeout(2000, () => {
        socket.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    await new Promise(resolve => setTimeout(resolve, 250));
  }
  const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n') : '';
  throw new Error(`RabbitMQ did not start on 127.0.0.1:${port} within ${timeoutMs} ms${child.exitCode !== null ? ` (exit ${child.exitCode})` : ''}\n${tail}`);
}

/**
 * Starts a RabbitMQ node with its state in `stateDir` and resolves when it speaks AMQP. The handle
 * stops it (SIGTERM: a clean shutdown), kills it (SIGKILL to the whole process group: a crash) and
 * restarts it on the same ports and the same data, which is how the tests cut the broker off mid-run.
 */
export async function startRabbitMQ({ stateDir, port, timeoutMs = 180_000 } = {}) {
  checkRabbitMQInstalled();
  if (!stateDir) throw new Error('startRabbitMQ needs a stateDir');
  mkdirSync(stateDir, { recursive: true });
  const amqpPort = port ?? (await freePort());
  const distPort = await freePort();
  const epmdPort = await freePort();
  const configFile = join(stateDir, 'rabbitmq.conf');
  writeFileSync(
    configFile,
    [
      `listeners.tcp.1 = 127.0.0.1:${amqpPort}`,
      // A test machine's disk may be nearly full of other work; the broker must not block publishers for it.
      'disk_free_limit.absolute = 50MB',
      'vm_memory_high_watermark.relative = 0.2',
      '',
    ].join('\n'),
  );
  const pluginsFile = join(stateDir, 'enabled_plugins');
  writeFileSync(pluginsFile, '[].\n');
  const logFile = join(stateDir, 'rabbitmq.out');
  const env = {
    ...process.env,
    HOME: stateDir,
    RABBITMQ_NODENAME: `chestaid-${amqpPort}@localhost`,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(amqpPort),
    RABBITMQ_DIST_PORT: String(distPort),
    ERL_EPMD_ADDRESS: '127.0.0.1',
    ERL_EPMD_PORT: String(epmdPort),
    RABBITMQ_MNESIA_BASE: join(stateDir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(stateDir, 'log'),
    RABBITMQ_CONFIG_FILE: configFile,
    RABBITMQ_ENABLED_PLUGINS_FILE: pluginsFile,
    RABBITMQ_PID_FILE: join(stateDir, 'rabbitmq.pid'),
    RABBITMQ_LOGS: '-',
  };

  let child;
  const launch = async () => {
    const log = openSync(logFile, 'a');
    // Its own process group: the start script, the Erlang VM and its port helper die together.
    child = spawn(RABBITMQ_SERVER, [], { stdio: ['ignore', log, log], env, detached: true });
    closeSync(log);
    try {
      await waitUntilUp(amqpPort, child, logFile, timeoutMs);
    } catch (error) {
      // A node that did not come up in time is not left behind, nor its epmd.
      await kill();
      spawnSync(EPMD, ['-port', String(epmdPort), '-kill'], { stdio: 'ignore', env });
      throw error;
    }
  };
  const exited = () => (child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise(resolve => child.once('exit', resolve)));
  const alive = () => child.exitCode === null && child.signalCode === null;
  const signalGroup = signal => {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  const stop = async () => {
    if (alive()) {
      signalGroup('SIGTERM');
      await exited();
    }
  };
  const kill = async () => {
    if (alive()) {
      signalGroup('SIGKILL');
      await exited();
    }
  };

  await launch();
  return {
    url: `amqp://guest:guest@127.0.0.1:${amqpPort}`,
    port: amqpPort,
    stateDir,
    logFile,
    get pid() {
      return child.pid;
    },
    stop,
    kill,
    async restart() {
      await stop();
      await launch();
    },
    /** Stops the node and the epmd it started (which outlives it by design). */
    async close() {
      await stop();
      spawnSync(EPMD, ['-port', String(epmdPort), '-kill'], { stdio: 'ignore', env });
    },
  };
}

// `node broker/rabbitmq.mjs [dir]`: a development broker in the foreground, stopped by Ctrl-C.
if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const stateDir = process.argv[2] ?? join(process.cwd(), 'build', 'rabbitmq');
  const broker = await startRabbitMQ({ stateDir, port: Number(process.env.RABBITMQ_PORT ?? 5672) });
  process.stdout.write(`RabbitMQ on ${broker.url} (state in ${stateDir}); Ctrl-C stops it\n`);
  const done = () => broker.close().then(() => process.exit(0));
  process.on('SIGINT', done);
  process.on('SIGTERM', done);
}
