// Package record holds the Record that flows through every sluice stage, its
// NDJSON output form and the parsing of an input line into a Record.
//
// It is a leaf package and the only importer of json-iterator, so the codec
// can be swapped in one place.
package record
