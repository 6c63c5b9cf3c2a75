package nets

import "testing"

func TestLeNetSteps(t *testing.T) { naCheckSteps(t, []string{"lenet"}, nil) }

// TestLeNetReference compares with kuangliu's LeNet (../shared/nets): 62,006
// parameters for 3 input channels, 61,706 for one, the same names and shapes.
func TestLeNetReference(t *testing.T) { naCheckKuangliu(t, "lenet", "LeNet") }

// TestLeNetParity compares the outputs with kuangliu's LeNet at full width.
func TestLeNetParity(t *testing.T) {
	naCheckParity(t, "lenet", "lenet_cifar", "lenet", Config{Style: CIFAR})
}

// TestLeNetInit checks PyTorch's default initialisation (kuangliu sets none).
func TestLeNetInit(t *testing.T) {
	naCheckInit(t, "lenet", Config{}, map[string]naInit{
		"conv2.weight": naDefault, "conv2.bias": naDefault, "fc1.weight": naDefault, "fc2.weight": naDefault,
	})
}
