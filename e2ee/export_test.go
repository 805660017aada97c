package e2ee

import "slices"

// Purposes is the fixed purpose list, for the tests in package e2ee_test.
func Purposes() []string { return slices.Clone(purposes) }
