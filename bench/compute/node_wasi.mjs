// bench/compute/node_wasi.mjs - runs a WASI preview1 module under Node.js's
// built-in WASI, the peer hedge's results are compared against.
//
// Usage: node --no-warnings bench/compute/node_wasi.mjs [--dir HOST[::GUEST]]...
//            [--env K=V]... PROG.wasm [ARGS...]
//
// The options mirror `hedge run`: --dir preopens HOST as GUEST (wasmtime
// syntax; GUEST defaults to HOST), --env sets one variable.  Only variables
// given with --env are passed, so runs are reproducible.  argv[0] is the
// module path as given; the module's exit status becomes the process's.
import { readFile } from 'node:fs/promises';
import { WASI } from 'node:wasi';
import process, { argv, exit, stderr } from 'node:process';

const env = {};
const preopens = {};
let i = 2;
for (; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--dir' && i + 1 < argv.length) {
    const spec = argv[++i];
    const sep = spec.indexOf('::');
    if (sep < 0) preopens[spec] = spec;
    else preopens[spec.slice(sep + 2)] = spec.slice(0, sep);
  } else if (a === '--env' && i + 1 < argv.length) {
    const kv = argv[++i];
    const eq = kv.indexOf('=');
    if (eq <= 0) {
      stderr.write(`node_wasi: bad --env '${kv}', expected K=V\n`);
      exit(64);
    }
    env[kv.slice(0, eq)] = kv.slice(eq + 1);
  } else if (a === '--') {
    i++;
    break;
  } else {
    break;
  }
}
if (i >= argv.length) {
  stderr.write('usage: node_wasi.mjs [--dir HOST[::GUEST]] [--env K=V] PROG.wasm [ARGS...]\n');
  exit(64);
}
const prog = argv[i];
const args = argv.slice(i + 1);
if (args[0] === '--') args.shift();

const wasi = new WASI({
  version: 'preview1',
  args: [prog, ...args],
  env,
  preopens,
  returnOnExit: true,
});
let module;
try {
  module = await WebAssembly.compile(await readFile(prog));
} catch (e) {
  stderr.write(`node_wasi: ${prog}: ${e.message}\n`);
  exit(2);
}
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
let status;
try {
  status = wasi.start(instance);
} catch (e) {
  // A trap: report it in one line, like hedge does.
  stderr.write(`node_wasi: wasm trap: ${e.message}\n`);
  exit(134);
}
process.exitCode = status ?? 0;
