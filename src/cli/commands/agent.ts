import type { Command } from 'commander';
import { hostname } from 'node:os';
import { loadConfig } from '../../config/index.js';
import { createSignalSource, startAgentServer } from '../../signals/index.js';
import { parseListen, ListenError } from '../../server/index.js';
import { UserError } from '../errors.js';
import { loggerFromOptions, untilSignal, type LogOptions } from './run.js';

export function registerAgent(program: Command): void {
  program
    .command('agent')
    .description(
      "serve as a remote vantage point: run this configuration's probes when a controller asks (bearer token)",
    )
    .requiredOption('--config <file>', 'YAML configuration file whose probes this agent runs')
    .option('--listen <addr>', 'address to listen on (host:port)', '127.0.0.1:9400')
    .option('--token <token>', 'bearer token controllers must send (or set PHOENIX_AGENT_TOKEN)')
    .option('--name <name>', "the vantage point's name in reports", hostname())
    .option('--log-level <level>', 'log level', 'info')
    .option('--log-format <format>', 'json, pretty, or auto', 'auto')
    .action(
      async (options: { config: string; listen: string; token?: string; name: string } & LogOptions) => {
        const config = loadConfig(options.config);
        const logger = loggerFromOptions(options);
        const token = options.token ?? process.env.PHOENIX_AGENT_TOKEN;
        if (!token) throw new UserError('no token: pass --token ${VAR} or set PHOENIX_AGENT_TOKEN');
        if (token.length < 16)
          throw new UserError(
            'the token is shorter than 16 characters; use a long random one (openssl rand -hex 24)',
          );
        const { host, port } = listenAddress(options.listen);
        const source = createSignalSource(config);
        if (source.names.length === 0)
          throw new UserError(
            `${options.config} configures no probes (probes.signals); the agent would have nothing to check`,
          );
        let server;
        try {
          server = await startAgentServer({
            name: options.name,
            source,
            token,
            host,
            port,
            onRequest: (entry) => logger.info(entry, 'request'),
          });
        } catch (error) {
          await source.close();
          const code = (error as NodeJS.ErrnoException).code;
          throw new UserError(
            code === 'EADDRINUSE'
              ? `${options.listen} is already in use; pick another --listen port`
              : `cannot listen on ${options.listen}: ${(error as Error).message}`,
          );
        }
        logger.info({ url: server.url, name: options.name, probes: source.names }, 'agent listening');
        const signal = await untilSignal();
        logger.info({ signal }, 'agent stopping');
        await server.close();
        await source.close();
        process.exit(0);
      },
    );
}

function listenAddress(text: string): { host: string; port: number } {
  try {
    return parseListen(text, '--listen');
  } catch (error) {
    if (error instanceof ListenError) throw new UserError(error.message);
    throw error;
  }
}
