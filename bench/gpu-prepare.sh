#!/bin/sh
# Prepares what bench/gpu-run.sh needs on a lent GPU machine (no network there): .gpu/ holds this
# machine's Node (xz), the `webgpu` npm package's Linux build (Dawn) and bench/gpu-dawn.ts bundled;
# .gl/ holds Debian's Vulkan loader and GL vendor libraries. Both are git-ignored; the device run
# carries them:  run(command: "sh bench/gpu-run.sh", carry: [".gl", ".gpu"]).
set -eu
cd "$(dirname "$0")/.."
mkdir -p .gpu .gl /tmp/amd64/partial
[ -f .gpu/node.xz ] || xz -T2 -6 -c "$(command -v node)" > .gpu/node.xz
if [ ! -f .gpu/webgpu/dist/linux-x64/dawn.node ]; then
  (cd .gpu && npm pack -q webgpu@0.6.2 >/dev/null && mkdir -p webgpu &&
    tar xzf webgpu-0.6.2.tgz -C webgpu --strip-components=1 package/index.js package/package.json package/dist/linux-x64/dawn.node &&
    rm webgpu-0.6.2.tgz)
fi
npx esbuild bench/gpu-dawn.ts --bundle --platform=node --format=esm --target=node20 --outfile=.gpu/gpu.mjs \
  --banner:js="import { createRequire } from 'module'; const require = createRequire(import.meta.url);" --log-level=warning
o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
if ! ls .gl/libvulkan1_*.deb >/dev/null 2>&1; then
  apt-get $o update >/dev/null
  (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
fi
du -sh .gpu .gl
