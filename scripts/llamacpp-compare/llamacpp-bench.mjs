// One llama.cpp measurement in the shape of `bitnet bench -r 1 --json`:
// a prompt of NPP tokens evaluated in one batch (pp), then NTG tokens
// generated greedily one at a time (tg), each after DEPTH tokens already
// in the context (bitnet bench -d). It runs in its own process so that
// llama.cpp and bitnet never share a heap or a thread pool.
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

const [modelPath, threads, npp, ntg, depth = "0"] = process.argv.slice(2);
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});
const model = await llama.loadModel({modelPath, gpuLayers: 0, useMmap: true});
const ctx = await model.createContext({contextSize: +depth + Math.max(+npp, +ntg) + 64, batchSize: 512, threads: +threads, sequences: 1});
const seq = ctx.getSequence();
const vocab = model.fileInfo.metadata.tokenizer?.ggml?.tokens?.length ?? 32000;
const tokens = (n, seed) => Array.from({length: n}, (_, i) => (i * 7919 + seed) % vocab);
const prompt = tokens(+npp, 13);
const context = tokens(+depth, 29);

// Fills the context with DEPTH tokens (untimed), or starts it with one.
const fill = async () => {
  await seq.clearHistory();
  await seq.evaluateWithoutGeneratingNewTokens(+depth > 0 ? context : [prompt[0]]);
};

let pp = 0;
if (+npp > 0) {
  if (+depth > 0) await fill();
  else await seq.clearHistory();
  const t0 = performance.now();
  await seq.evaluateWithoutGeneratingNewTokens(prompt);
  pp = +npp / ((performance.now() - t0) / 1000);
}

await fill();
let n = 0;
const t0 = performance.now();
for await (const _ of seq.evaluate([prompt[1]], {temperature: 0})) {
  if (++n >= +ntg) break;
}
const tg = n / ((performance.now() - t0) / 1000);
console.log(JSON.stringify({pp_tok_s: pp, tg_tok_s: tg}));
await llama.dispose();
