//go:build tools

// Keeps the Compose command in go.mod's requirements (go mod tidy).
package tools

import _ "github.com/docker/compose/v2/cmd"
