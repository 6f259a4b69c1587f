//go:build !cgo

// The package is a binding of a C library and needs cgo: this file is all that remains when
// cgo is off (CGO_ENABLED=0, or cross-compiling without CC), so that the build stops at the
// identifier below, which says what to do.
package alog

var _ = alog_needs_cgo__build_with_CGO_ENABLED_1_and_a_C_compiler__see_README_Builds
