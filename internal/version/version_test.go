package version

import (
	"regexp"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCommitComesFromTheBuildStamp(t *testing.T) {
	require.Equal(t, "unknown", commitOf(nil))
	require.Equal(t, "0123456789ab", commitOf([]debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"}, {Key: "vcs.modified", Value: "false"}}))
	require.Equal(t, "0123456789ab+dirty", commitOf([]debug.BuildSetting{
		{Key: "vcs.modified", Value: "true"}, {Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"}}))
}

func TestStringKeepsUpstreamsShapeAndNamesOurs(t *testing.T) {
	s := String("nsqd")
	require.Regexp(t, regexp.MustCompile(`^nsqd v1\.3\.0 \(built w/go\S+\) nsqgo (unknown|[0-9a-f]{12}(\+dirty)?)$`), s)
}
