// hf_check: does Hugging Face's tokenizer (the JS port, @huggingface/tokenizers)
// give exactly the token ids that our tokenizer wrote into a token bin?
//
//   npm install --prefix tests/hf
//   node tests/hf/hf_check.mjs <tokenizer.json> <tokenizer_config.json> <text file> <bin file>
//
// The bin is the project's token-bin format as `pack-bins --append_eos 1`
// writes it: a 1024-byte header of 256 little-endian int32 ([0] magic
// 0x4444544B, [1] version 1, [2] token count, [3] vocab size, [4] bytes per
// token 2|4), then the tokens; every line of the text is encoded and followed
// by <eos> (id 256). We encode each line with HF (no special tokens added),
// append 256, and compare with the bin token by token. Each line's HF ids
// must also decode back to the line.
// Exit 0: identical. Exit 1: first mismatch printed. Exit 2: bad usage/input.
import { readFileSync } from "node:fs";
import { Tokenizer } from "@huggingface/tokenizers";

const EOS = 256;
const MAGIC = 0x4444544b;

function fail(code, msg) {
  console.error(`hf_check: ${msg}`);
  process.exit(code);
}

const args = process.argv.slice(2);
if (args.length !== 4 || args.includes("--help")) {
  console.error("usage: node hf_check.mjs <tokenizer.json> <tokenizer_config.json> <text file> <bin file>");
  process.exit(args.includes("--help") ? 0 : 2);
}
const [tokPath, cfgPath, textPath, binPath] = args;

function readJson(path) {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    fail(2, `${path}: ${e.message}`);
  }
}

function readBin(path) {
  let buf;
  try {
    buf = readFileSync(path);
  } catch (e) {
    fail(2, `${path}: ${e.message}`);
  }
  if (buf.length < 1024) fail(2, `${path}: ${buf.length} bytes, shorter than the 1024-byte header`);
  const h = (i) => buf.readInt32LE(4 * i);
  if (h(0) !== MAGIC) fail(2, `${path}: bad magic 0x${(h(0) >>> 0).toString(16)} (want 0x${MAGIC.toString(16)})`);
  if (h(1) !== 1) fail(2, `${path}: unsupported version ${h(1)}`);
  const count = h(2), vocab = h(3), bpt = h(4);
  if (count < 0) fail(2, `${path}: negative token count ${count}`);
  if (bpt !== 2 && bpt !== 4) fail(2, `${path}: bytes per token ${bpt}, want 2 or 4`);
  if ((vocab > 65535) !== (bpt === 4)) fail(2, `${path}: vocab ${vocab} with ${bpt} bytes per token`);
  const want = 1024 + count * bpt;
  if (buf.length !== want) fail(2, `${path}: ${buf.length} bytes, header says ${want} (${count} tokens x ${bpt})`);
  const tokens = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    tokens[i] = bpt === 2 ? buf.readUInt16LE(1024 + 2 * i) : buf.readUInt32LE(1024 + 4 * i);
  }
  return { tokens, vocab };
}

let tok;
try {
  tok = new Tokenizer(readJson(tokPath), readJson(cfgPath));
} catch (e) {
  fail(2, `${tokPath}: Hugging Face could not load it: ${e.message}`);
}
const { tokens, vocab } = readBin(binPath);
const hfVocab = tok.get_vocab().size;
if (hfVocab !== vocab) fail(1, `vocab size differs: HF ${hfVocab}, ${binPath} header ${vocab}`);

let text;
try {
  text = readFileSync(textPath, "utf8");
} catch (e) {
  fail(2, `${textPath}: ${e.message}`);
}
const lines = text.split("\n");
if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();   // final newline ends the last line

const show = (a) => `[${Array.from(a).join(", ")}]`;
let pos = 0;
for (let n = 0; n < lines.length; n++) {
  const line = lines[n];
  const ids = tok.encode(line, { add_special_tokens: false }).ids;
  ids.push(EOS);
  const ours = tokens.subarray(pos, Math.min(pos + ids.length, tokens.length));
  let same = ours.length === ids.length;
  for (let i = 0; same && i < ids.length; i++) same = ours[i] === ids[i];
  if (!same) {
    // show our ids up to (and including) our next <eos>, for a readable diff
    let end = pos;
    while (end < tokens.length && tokens[end] !== EOS) end++;
    console.log(`hf_check: MISMATCH at line ${n + 1} (token offset ${pos})`);
    console.log(`  text: ${JSON.stringify(line)}`);
    console.log(`  ours: ${show(tokens.subarray(pos, Math.min(end + 1, tokens.length)))}`);
    console.log(`  hf:   ${show(ids)}`);
    process.exit(1);
  }
  if (ids.length > 1) {
    const back = tok.decode(ids.slice(0, -1), { skip_special_tokens: false, clean_up_tokenization_spaces: false });
    if (back !== line) {
      console.log(`hf_check: DECODE MISMATCH at line ${n + 1}`);
      console.log(`  text:    ${JSON.stringify(line)}`);
      console.log(`  decoded: ${JSON.stringify(back)}`);
      process.exit(1);
    }
  }
  pos += ids.length;
}
if (pos !== tokens.length) {
  console.log(`hf_check: MISMATCH: ${lines.length} lines give ${pos} tokens, ${binPath} holds ${tokens.length}`);
  process.exit(1);
}
console.log(`hf_check: ${lines.length} lines, ${pos} tokens, identical`);
