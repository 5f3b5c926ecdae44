// `vite preview` of the built app on a free-ish port for the Chromium benchmarks; resolves once it
// answers. stop() ends it.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export async function startPreview({ outDir } = {}) {
  const port = 4300 + Math.floor(Math.random() * 1000);
  const origin = `http://127.0.0.1:${port}`;
  const args = [join(ROOT, 'node_modules/vite/bin/vite.js'), 'preview', '--host', '127.0.0.1', '--port', String(port), '--strictPort', ...(outDir ? ['--outDir', outDir] : [])];
  const server = spawn(process.execPath, args, { cwd: ROOT, stdio: 'ignore' });
  const stop = () => server.kill('SIGTERM');
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(origin)).ok) return { origin, stop };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  stop();
  throw new Error(`vite preview did not answer on ${origin} within 20 s`);
}
