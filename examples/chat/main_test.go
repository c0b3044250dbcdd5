package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRun(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(&out))
	text := out.String()

	// Both sides print the same safety number: 12 groups of 5 digits.
	re := regexp.MustCompile(`(?m)^(alice|bob) sees: +((?:\d{5} ){11}\d{5})$`)
	m := re.FindAllStringSubmatch(text, -1)
	require.Len(t, m, 2, text)
	assert.Equal(t, "alice", m[0][1])
	assert.Equal(t, "bob", m[1][1])
	assert.Equal(t, m[0][2], m[1][2], "the same safety number on both sides")
	assert.Contains(t, text, "the safety numbers match")

	// Every message sent was read once, with its text intact.
	sent := regexp.MustCompile(`(?m)^(\w+) +-> (\w+) +#(\d+) (PreKey|Whisper) +\d+ bytes  (".*")$`).FindAllStringSubmatch(text, -1)
	read := regexp.MustCompile(`(?m)^(\w+) +<- (\w+) +#(\d+) reads (".*")$`).FindAllStringSubmatch(text, -1)
	require.Len(t, sent, 8, text)
	require.Len(t, read, len(sent), text)
	want := map[string]string{}
	for _, s := range sent {
		want[s[1]+">"+s[2]+s[3]] = s[5]
	}
	for _, r := range read {
		assert.Equal(t, want[r[2]+">"+r[1]+r[3]], r[4], r[0])
	}

	// Alice sends PreKey messages until Bob answers, Whisper messages after.
	assert.Equal(t, []string{"PreKey", "PreKey", "PreKey"}, []string{sent[0][4], sent[1][4], sent[2][4]})
	for _, s := range sent[3:] {
		assert.Equal(t, "Whisper", s[4], s[0])
	}
	assert.Contains(t, text, "rejects it as a duplicate")
	assert.Equal(t, 2, strings.Count(text, "restarts and loads it: current state true"))
}
