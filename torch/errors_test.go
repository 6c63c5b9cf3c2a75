package torch

import (
	"errors"
	"strings"
	"testing"
)

// Errors crossing from libtorch keep their class: each failing operation below must
// be recognised by errors.Is as its own class and as no other, and keep libtorch's
// message behind the operation's name.
func TestErrorClasses(t *testing.T) {
	s := NewScope()
	defer s.Close()
	a := Ones(s, []int64{2, 3})
	b := Ones(s, []int64{4, 5})
	idx := FromSlice(s, []int64{0, 7}, []int64{2})
	type errCase struct {
		name string
		err  error
		want ErrorClass
		op   string
	}
	cases := []errCase{
		{"broadcast mismatch", a.Add(b).Err(), ErrShape, "Add"},
		{"matmul mismatch", a.Matmul(b).Err(), ErrShape, "Matmul"},
		{"view of the wrong size", a.View([]int64{7}).Err(), ErrShape, "View"},
		{"cat of mismatched sizes", Cat([]*Tensor{a, b}, 0).Err(), ErrShape, "Cat"},
		{"index out of range", a.IndexSelect(1, idx).Err(), ErrIndex, "IndexSelect"},
		{"select out of range", a.Select(0, 5).Err(), ErrIndex, "Select"},
		{"dimension out of range", a.Narrow(4, 0, 1).Err(), ErrIndex, "Narrow"},
		{"dtype mismatch", a.Matmul(Ones(s, []int64{3, 2}, Float64)).Err(), ErrType, "Matmul"},
		{"slice that does not fill the shape", FromSlice(s, []float32{1, 2, 3}, []int64{2, 2}).Err(), ErrShape, "FromSlice"},
		{"nil operand", a.Add(nil).Err(), ErrValue, "Add"},
		{"allocation beyond memory", Zeros(s, []int64{1 << 43}).Err(), ErrOutOfMemory, "Zeros"},
	}
	if strings.HasPrefix(Version(), "1.") {
		// libtorch 2.1 and later have half-precision matrix products on the CPU.
		h := Ones(s, []int64{2, 2}, Float16)
		cases = append(cases, errCase{"no half-precision CPU kernel", h.Matmul(h).Err(), ErrNotImplemented, "Matmul"})
	}
	if !BuiltWithCUDA() {
		cases = append(cases, errCase{"CUDA tensor without CUDA", a.To(CUDA(0)).Err(), ErrDevice, "ToOpts"})
	}
	all := []ErrorClass{ErrOther, ErrOutOfMemory, ErrShape, ErrIndex, ErrType, ErrValue, ErrDevice, ErrNotImplemented, ErrLinAlg}
	for _, c := range cases {
		if c.err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		var te *Error
		if !errors.As(c.err, &te) {
			t.Errorf("%s: %T is not a *torch.Error: %v", c.name, c.err, c.err)
			continue
		}
		msg := te.Error()
		if len(msg) > 100 {
			msg = msg[:100] + "…"
		}
		t.Logf("%s: %v: %s", c.name, te.Class, msg)
		for _, class := range all {
			if got := errors.Is(c.err, class); got != (class == c.want) {
				t.Errorf("%s: errors.Is(err, %v) = %v (class %v)", c.name, class, got, te.Class)
			}
		}
		if !strings.HasPrefix(msg, "torch "+c.op+": ") {
			t.Errorf("%s: message %q does not name the operation %s", c.name, msg, c.op)
		}
	}
	// The class survives wrapping, and the scope keeps the first error with its class.
	if err := s.Err(); !errors.Is(err, ErrShape) {
		t.Errorf("scope error %v is not a shape error", err)
	}
	if w := errors.Join(errors.New("step 3"), a.Add(b).Err()); !errors.Is(w, ErrShape) || errors.Is(w, ErrDevice) {
		t.Errorf("wrapped error lost its class: %v", w)
	}
	if ErrOutOfMemory.Error() != "torch: out of memory" || ErrorClass(200).Error() != "torch: error class 200" {
		t.Errorf("class names: %q %q", ErrOutOfMemory.Error(), ErrorClass(200).Error())
	}
}
