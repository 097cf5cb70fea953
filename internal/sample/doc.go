// Package sample turns next-token logits into token ids. It is the one
// sampler chain shared by `bitnet run`, `bitnet chat` and the
// OpenAI-compatible server, so that the same flags or JSON fields give the
// same distribution everywhere.
//
// The chain follows llama.cpp's default order:
//
//	logit bias → penalties (repeat, frequency, presence) → top-k →
//	typical-p → top-p → min-p → temperature → softmax → seeded draw
//
// Truncation happens before temperature, so top-p and min-p are measured
// on the model's own distribution (temperature 1) exactly as in llama.cpp;
// a high temperature therefore flattens what survives rather than letting
// more of the tail in.
//
// The package also holds the pieces of decoding that are not the model:
// log-probabilities for the OpenAI logprobs fields, stop strings that are
// safe to stream (Stopper), and one step of beam search (BeamStep).
package sample
