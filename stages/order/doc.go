// Package order is --ordered: a gate that holds the input back to the
// window, and a reorder buffer that writes records in input order.
package order
