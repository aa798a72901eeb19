package seal_test

import (
	"os"
	"testing"

	"github.com/teamkeys/teamkeys/internal/testing/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
