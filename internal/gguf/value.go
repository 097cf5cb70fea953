package gguf

import (
	"fmt"
	"math"
)

// ValueType is the GGUF metadata value type id.
type ValueType uint32

// GGUF metadata value types.
const (
	ValueUint8   ValueType = 0
	ValueInt8    ValueType = 1
	ValueUint16  ValueType = 2
	ValueInt16   ValueType = 3
	ValueUint32  ValueType = 4
	ValueInt32   ValueType = 5
	ValueFloat32 ValueType = 6
	ValueBool    ValueType = 7
	ValueString  ValueType = 8
	ValueArray   ValueType = 9
	ValueUint64  ValueType = 10
	ValueInt64   ValueType = 11
	ValueFloat64 ValueType = 12
)

var valueTypeNames = [...]string{"uint8", "int8", "uint16", "int16", "uint32", "int32",
	"float32", "bool", "string", "array", "uint64", "int64", "float64"}

// String returns the GGUF spec's name of the type.
func (v ValueType) String() string {
	if int(v) < len(valueTypeNames) {
		return valueTypeNames[v]
	}
	return fmt.Sprintf("valuetype(%d)", uint32(v))
}

// scalarSize is the encoded size of a fixed-size value type, 0 otherwise.
func (v ValueType) scalarSize() uint64 {
	switch v {
	case ValueUint8, ValueInt8, ValueBool:
		return 1
	case ValueUint16, ValueInt16:
		return 2
	case ValueUint32, ValueInt32, ValueFloat32:
		return 4
	case ValueUint64, ValueInt64, ValueFloat64:
		return 8
	}
	return 0
}

// KV is one metadata entry.
//
// Value has the Go type that matches the GGUF type exactly, so that a file
// can be written back unchanged: uint8, int8, uint16, int16, uint32, int32,
// float32, bool, string, uint64, int64, float64, or a slice of one of them
// ([]string for string arrays). Arrays of arrays are not supported (llama.cpp
// rejects them too).
type KV struct {
	Key   string
	Value any
}

// Type returns the GGUF type of the value and, for arrays, the element type.
func (kv KV) Type() (typ, elem ValueType) {
	typ, elem, _ = valueTypeOf(kv.Value)
	return typ, elem
}

// valueTypeOf maps a Go value to its GGUF encoding; ok is false for Go
// types that have no exact GGUF counterpart (int, uint, nested slices, …),
// because guessing a width there would silently change files.
func valueTypeOf(v any) (typ, elem ValueType, ok bool) {
	switch v.(type) {
	case uint8:
		return ValueUint8, 0, true
	case int8:
		return ValueInt8, 0, true
	case uint16:
		return ValueUint16, 0, true
	case int16:
		return ValueInt16, 0, true
	case uint32:
		return ValueUint32, 0, true
	case int32:
		return ValueInt32, 0, true
	case float32:
		return ValueFloat32, 0, true
	case bool:
		return ValueBool, 0, true
	case string:
		return ValueString, 0, true
	case uint64:
		return ValueUint64, 0, true
	case int64:
		return ValueInt64, 0, true
	case float64:
		return ValueFloat64, 0, true
	case []uint8:
		return ValueArray, ValueUint8, true
	case []int8:
		return ValueArray, ValueInt8, true
	case []uint16:
		return ValueArray, ValueUint16, true
	case []int16:
		return ValueArray, ValueInt16, true
	case []uint32:
		return ValueArray, ValueUint32, true
	case []int32:
		return ValueArray, ValueInt32, true
	case []float32:
		return ValueArray, ValueFloat32, true
	case []bool:
		return ValueArray, ValueBool, true
	case []string:
		return ValueArray, ValueString, true
	case []uint64:
		return ValueArray, ValueUint64, true
	case []int64:
		return ValueArray, ValueInt64, true
	case []float64:
		return ValueArray, ValueFloat64, true
	}
	return 0, 0, false
}

// asUint converts any integer value to uint64; negative values fail.
func asUint(v any) (uint64, bool) {
	switch x := v.(type) {
	case uint8:
		return uint64(x), true
	case uint16:
		return uint64(x), true
	case uint32:
		return uint64(x), true
	case uint64:
		return x, true
	case int8, int16, int32, int64:
		i, _ := asInt(x)
		if i < 0 {
			return 0, false
		}
		return uint64(i), true
	}
	return 0, false
}

// asInt converts any integer value to int64; uint64 values above MaxInt64 fail.
func asInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint8, uint16, uint32, uint64:
		u, _ := asUint(x)
		if u > math.MaxInt64 {
			return 0, false
		}
		return int64(u), true
	}
	return 0, false
}

// int32s converts an integer array of any element type to []int32, failing
// if an element does not fit.
func int32s(v any) ([]int32, bool) {
	switch x := v.(type) {
	case []int32:
		return x, true
	case []uint8:
		return convInt32(x)
	case []int8:
		return convInt32(x)
	case []uint16:
		return convInt32(x)
	case []int16:
		return convInt32(x)
	case []uint32:
		return convInt32(x)
	case []uint64:
		return convInt32(x)
	case []int64:
		return convInt32(x)
	}
	return nil, false
}

func convInt32[T uint8 | int8 | uint16 | int16 | uint32 | uint64 | int64](in []T) ([]int32, bool) {
	out := make([]int32, len(in))
	for i, x := range in {
		// Compare in the source type's domain through int64/uint64 so that
		// neither sign nor width wraps.
		if x < 0 {
			if int64(x) < math.MinInt32 {
				return nil, false
			}
		} else if uint64(x) > math.MaxInt32 {
			return nil, false
		}
		out[i] = int32(x)
	}
	return out, true
}
