// Package skip marks records that are not to be fetched: --resume's
// records already written, and --unique's duplicates.
package skip
