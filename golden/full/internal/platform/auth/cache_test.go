package auth

import (
	"fmt"
	"testing"
	"time"
)

// TestCacheIsBoundedInSizeAndTime: entries expire after the TTL, and a
// flood of distinct keys never grows the cache past its bound.
func TestCacheIsBoundedInSizeAndTime(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	c := newCache[string, int](CacheTTL, 100, func() time.Time { return now })
	c.put("a", 1)
	if v, ok := c.get("a"); !ok || v != 1 {
		t.Fatalf("fresh entry: %v, %v", v, ok)
	}
	now = now.Add(CacheTTL - time.Millisecond)
	if _, ok := c.get("a"); !ok {
		t.Fatal("entry gone before the TTL")
	}
	now = now.Add(time.Millisecond)
	if _, ok := c.get("a"); ok {
		t.Fatal("entry still served at the TTL")
	}
	for i := range 10_000 {
		c.put(fmt.Sprint(i), i)
		if n := c.len(); n > 100 {
			t.Fatalf("after %d puts the cache holds %d entries, bound 100", i+1, n)
		}
	}
	c.forget("9999")
	if _, ok := c.get("9999"); ok {
		t.Error("forgotten entry still served")
	}
}

func TestKeyFormat(t *testing.T) {
	t.Parallel()
	key, prefix := newKey()
	if len(key) != keyLen || PrefixOf(key) != prefix || len(prefix) != keyPrefixLen {
		t.Fatalf("key %d characters, prefix %q", len(key), prefix)
	}
	if got, ok := keyPrefix(key); !ok || got != prefix {
		t.Fatalf("keyPrefix of a fresh key = %q, %v", got, ok)
	}
	other, _ := newKey()
	if other == key || hashKey(other) == hashKey(key) {
		t.Fatal("two fresh keys are equal")
	}
	for _, bad := range []string{"", prefix, key + "a", key[:len(key)-1], "SK" + key[2:], key[:keyPrefixLen] + "-" + key[keyPrefixLen+1:], key[:20] + "A" + key[21:]} {
		if _, ok := keyPrefix(bad); ok {
			t.Errorf("keyPrefix accepted %q", bad)
		}
	}
}
