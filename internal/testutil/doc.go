// Package testutil provides helpers shared by longhaul's tests.
package testutil
