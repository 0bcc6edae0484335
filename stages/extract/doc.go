// Package extract is the extract stage: from a page's body, the parts
// --extract, --select, --jq and --hash ask for (title, links, meta, text,
// headers, CSS selections, jq results, hashes), decoding the body's charset
// first. One parse of a page serves every part.
package extract
