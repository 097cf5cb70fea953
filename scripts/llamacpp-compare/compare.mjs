// Usage: node compare.mjs [-t 2] [-p 128] [-n 32] [-d 0] [-r 3] [--bitnet PATH] FILE.gguf...
//
// For each round and each file it runs llama.cpp (llamacpp-bench.mjs) and
// `bitnet bench -r 1`, one after the other, so both engines see the same
// machine state; a shared VM drifts by tens of percent within minutes, which
// sequential whole-engine runs would turn into a false ratio. It prints the
// median of each engine per file and the ratio of the medians, as markdown.
import {execFileSync} from "node:child_process";
import {fileURLToPath} from "node:url";
import path from "node:path";

const args = process.argv.slice(2);
const opt = {t: "2", p: "128", n: "32", d: "0", r: "3", bitnet: "bitnet"};
const files = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (["-t", "-p", "-n", "-d", "-r"].includes(a)) opt[a.slice(1)] = args[++i];
  else if (a === "--bitnet") opt.bitnet = args[++i];
  else if (a.startsWith("-")) throw new Error(`unknown flag ${a}`);
  else files.push(a);
}
if (files.length === 0) throw new Error("usage: node compare.mjs [-t N] [-p N] [-n N] [-d N] [-r N] [--bitnet PATH] FILE.gguf...");

const here = path.dirname(fileURLToPath(import.meta.url));
const runJSON = (cmd, argv) => {
  const out = execFileSync(cmd, argv, {encoding: "utf8", stdio: ["ignore", "pipe", "inherit"]});
  return JSON.parse(out.trim().split("\n").pop());
};
const res = Object.fromEntries(files.map(f => [f, {llama: [], bitnet: []}]));
for (let r = 0; r < +opt.r; r++) {
  for (const f of files) {
    res[f].llama.push(runJSON("node", [path.join(here, "llamacpp-bench.mjs"), f, opt.t, opt.p, opt.n, opt.d]));
    res[f].bitnet.push(runJSON(opt.bitnet, ["bench", "-m", f, "-t", opt.t, "-p", opt.p, "-n", opt.n, "-d", opt.d, "-r", "1", "--json"]));
    process.stderr.write(`round ${r + 1}/${opt.r} ${path.basename(f)}: llama.cpp pp ${res[f].llama.at(-1).pp_tok_s.toFixed(1)} tg ${res[f].llama.at(-1).tg_tok_s.toFixed(1)}; bitnet pp ${res[f].bitnet.at(-1).pp_tok_s.toFixed(1)} tg ${res[f].bitnet.at(-1).tg_tok_s.toFixed(1)}\n`);
  }
}
const median = xs => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const at = opt.d !== "0" ? ` @ d${opt.d}` : "";
console.log(`| file | llama.cpp pp${opt.p}${at} | bitnet pp${opt.p}${at} | pp ratio | llama.cpp tg${opt.n}${at} | bitnet tg${opt.n}${at} | tg ratio | bitnet of limit |`);
console.log("|---|---|---|---|---|---|---|---|");
for (const f of files) {
  const {llama, bitnet} = res[f];
  const lp = median(llama.map(x => x.pp_tok_s)), bp = median(bitnet.map(x => x.pp_tok_s));
  const lt = median(llama.map(x => x.tg_tok_s)), bt = median(bitnet.map(x => x.tg_tok_s));
  const frac = median(bitnet.map(x => x.bandwidth_fraction));
  const ratio = (a, b) => (b > 0 ? `${(a / b).toFixed(2)}×` : "—");
  console.log(`| ${path.basename(f)} | ${lp.toFixed(1)} | ${bp.toFixed(1)} | ${ratio(bp, lp)} | ${lt.toFixed(1)} | ${bt.toFixed(1)} | ${ratio(bt, lt)} | ${(100 * frac).toFixed(0)} % |`);
}
