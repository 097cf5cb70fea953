// Package e2e drives a running server the way real clients do: with the
// official OpenAI Go SDK, many concurrent streams, and a headless browser
// on the web page. It has tests only; the SDK stays out of the library's
// dependencies.
package e2e
