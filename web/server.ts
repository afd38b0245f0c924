// `npm run web`: a tiny static server on 127.0.0.1 for the demo page. It serves the files of web/
// (page, style), the bundle built in memory at start (/dist/*), and *.safetensors files lying
// directly in one weights folder (/weights/*). Anything else, `..` segments and absolute or
// encoded-away paths included, is refused.

import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { integerAtLeast } from '../pipeline/commands/options.ts';
import { bundleForBrowser, repositoryRoot } from './build.ts';

const webRoot = fileURLToPath(new URL('.', import.meta.url));
const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.safetensors': 'application/octet-stream',
};
const staticExtensions = new Set(['.html', '.css', '.png', '.svg', '.ico']);
const weightsName = /^[A-Za-z0-9][A-Za-z0-9._-]*\.safetensors$/;

export interface WebServerOptions {
  port?: number;
  host?: string;
  /** Folder whose *.safetensors files are served under /weights/; default models/weights/ if present. */
  weightsDir?: string | null;
}

export interface WebServer {
  url: string;
  close(): Promise<void>;
}

class Refused extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** The URL path as safe segments; throws Refused for traversal, absolute or malformed paths. */
export function safeSegments(rawUrl: string): string[] {
  const rawPath = rawUrl.split(/[?#]/, 1)[0];
  if (!rawPath.startsWith('/') || rawPath.startsWith('//')) throw new Refused(400, 'path must be relative to this site');
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    throw new Refused(400, 'malformed path');
  }
  if (/[\\\0]/.test(decoded) || decoded.includes('//')) throw new Refused(400, 'malformed path');
  const segments = decoded.split('/').slice(1);
  if (segments.some((segment) => segment === '..' || segment === '.' || segment.startsWith('~'))) throw new Refused(403, 'path traversal refused');
  return segments;
}

/** `file` if it is an existing regular file inside `root`, symbolic links resolved, else null. */
function fileInside(root: string, relative: string): string | null {
  const file = resolve(root, relative);
  if (!existsSync(file)) return null;
  const real = realpathSync(file);
  return real.startsWith(realpathSync(root) + sep) && statSync(real).isFile() ? real : null;
}

export async function startWebServer(options: WebServerOptions = {}): Promise<WebServer> {
  const defaultWeights = join(repositoryRoot, 'models', 'weights');
  const weightsDir = options.weightsDir === undefined ? (existsSync(defaultWeights) ? defaultWeights : null) : options.weightsDir;
  const bundle = await bundleForBrowser();

  const respond = (response: ServerResponse, status: number, type: string, body: Uint8Array | string, head: boolean) => {
    response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    response.end(head ? undefined : body);
  };

  const handle = (request: IncomingMessage, response: ServerResponse) => {
    const head = request.method === 'HEAD';
    if (request.method !== 'GET' && !head) return respond(response, 405, 'text/plain', 'GET only\n', false);
    try {
      const segments = safeSegments(request.url ?? '/');
      const path = segments.join('/');
      if (path === '') return respond(response, 200, contentTypes['.html'], readFileSync(join(webRoot, 'index.html')), head);
      if (segments[0] === 'dist' && segments.length === 2 && bundle.has(segments[1])) {
        return respond(response, 200, contentTypes[extname(segments[1])] ?? 'application/octet-stream', bundle.get(segments[1])!, head);
      }
      if (segments[0] === 'weights' && segments.length === 2 && weightsDir && weightsName.test(segments[1])) {
        const file = fileInside(weightsDir, segments[1]);
        if (file) return respond(response, 200, contentTypes['.safetensors'], readFileSync(file), head);
      }
      if (segments.length === 1 && staticExtensions.has(extname(path))) {
        const file = fileInside(webRoot, path);
        if (file) return respond(response, 200, contentTypes[extname(path)], readFileSync(file), head);
      }
      respond(response, 404, 'text/plain', 'not found\n', head);
    } catch (error) {
      if (error instanceof Refused) return respond(response, error.status, 'text/plain', `${error.message}\n`, head);
      respond(response, 500, 'text/plain', 'server error\n', head);
    }
  };

  const server = createServer(handle);
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 8080, options.host ?? '127.0.0.1', () => done());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.address}:${address.port}/`,
    close: () => new Promise<void>((done) => {
      server.closeAllConnections();
      server.close(() => done());
    }),
  };
}

function portNumber(value: string): number {
  const port = integerAtLeast(value, 0);
  if (port === null || port > 65535) throw new InvalidArgumentError('expected a port number, 0-65535 (0: any free port).');
  return port;
}

function directory(value: string): string {
  if (!existsSync(value) || !statSync(value).isDirectory()) throw new InvalidArgumentError('no such directory.');
  return resolve(value);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { port, weightsDir } = new Command('npm run web --')
    .option('--port <n>', 'port on 127.0.0.1', portNumber, 8080)
    .option('--weights-dir <dir>', 'folder of cgan.safetensors / srgan.safetensors (default models/weights/)', directory)
    .parse()
    .opts<{ port: number; weightsDir?: string }>();
  const server = await startWebServer({ port, weightsDir });
  console.log(`xraygen web page at ${server.url} (weights from ${weightsDir ?? 'models/weights/'}); Ctrl-C stops it`);
}
