// Vite (app build, dev server, preview) and vitest (unit tests) in one file.
import react from '@vitejs/plugin-react';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { defineConfig, type Plugin } from 'vitest/config';

/** What the built page may load: only its own origin. Nothing about a patient can leave the page.
 *  'wasm-unsafe-eval' lets tfjs compile its WebAssembly; blob: covers workers and downloads. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self' blob:",
  "connect-src 'self' blob: data:",
  "img-src 'self' data: blob:",
  "style-src 'self' 'unsafe-inline'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'none'",
].join('; ');

/** The CSP as a <meta> tag in the built index.html (so any static host enforces it). Not in dev:
 *  the dev server needs inline scripts and a websocket for hot reload. */
function cspMeta(): Plugin {
  return {
    name: 'exbehrt-csp-meta',
    apply: 'build',
    transformIndexHtml: () => [{ tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: CONTENT_SECURITY_POLICY }, injectTo: 'head-prepend' }],
  };
}

/** dist/sw.js: the service worker (src/offline/sw-template.js) with the list of every built file
 *  to precache (app shell, scripts, wasm, shipped models, sample patients) and a version hash of
 *  their contents, so a new build replaces the old cache. */
function serviceWorker(): Plugin {
  let outDir = 'dist';
  return {
    name: 'exbehrt-service-worker',
    apply: 'build',
    configResolved: (c) => void (outDir = c.build.outDir),
    closeBundle() {
      const files: string[] = [];
      const walk = (d: string) => {
        for (const f of readdirSync(d)) {
          const p = join(d, f);
          if (statSync(p).isDirectory()) walk(p);
          else if (f !== 'sw.js' && !f.endsWith('.map')) files.push(p);
        }
      };
      walk(outDir);
      const hash = createHash('sha256');
      const urls = files.sort().map((p) => {
        hash.update(p).update(readFileSync(p));
        return '/' + relative(outDir, p).split(sep).join('/');
      });
      urls.push('/');
      const tpl = readFileSync('src/offline/sw-template.js', 'utf8');
      writeFileSync(join(outDir, 'sw.js'), tpl.replace("'__VERSION__'", JSON.stringify(hash.digest('hex').slice(0, 16))).replace('__PRECACHE__', JSON.stringify(urls)));
    },
  };
}

export default defineConfig({
  plugins: [react(), cspMeta(), serviceWorker()],
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    // tfjs with three backends is ~2 MB in the worker chunk; that is expected
    chunkSizeWarningLimit: 4096,
  },
  // `vite preview` also sends the CSP as a header: a header (unlike the meta tag) covers the worker too
  preview: { headers: { 'Content-Security-Policy': CONTENT_SECURITY_POLICY } },
  test: {
    environment: 'node',
    include: ['tests/unit/**/*.test.ts', 'tests/unit/**/*.test.tsx'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
