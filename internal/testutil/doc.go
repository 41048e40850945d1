// Package testutil holds helpers shared by longhaul's tests.
package testutil
