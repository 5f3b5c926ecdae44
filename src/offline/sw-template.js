// ExBEHRT Workbench service worker: makes the app work offline after one visit. It precaches the
// app shell, the scripts and wasm files, and the shipped models and sample patients (the list is
// written at build time), and answers same-origin GETs network-first, falling back to the cache
// (online: always fresh; offline: the last copy). Patient data the user imports never passes
// through here: it is read from local files in the page and never fetched.
const VERSION = '__VERSION__';
const PRECACHE = __PRECACHE__;
const CACHE = `exbehrt-${VERSION}`;

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(PRECACHE)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('exbehrt-') && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== self.location.origin) return;
  event.respondWith(
    fetch(req)
      .then((res) => {
        if (res.ok && PRECACHE.includes(url.pathname)) {
          const copy = res.clone();
          void caches.open(CACHE).then((c) => c.put(req, copy));
        }
        return res;
      })
      .catch(async () => {
        const hit = await caches.match(req, { ignoreSearch: true });
        if (hit) return hit;
        // a navigation to any app URL gets the app shell
        if (req.mode === 'navigate') {
          const shell = await caches.match('/index.html');
          if (shell) return shell;
        }
        return new Response('offline and not cached', { status: 503, statusText: 'Offline' });
      }),
  );
});
