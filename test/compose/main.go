// compose-config loads a directory's Compose file the way `docker compose config -q` does, with
// Compose's own loader (compose-go, the library the docker compose plugin is built on): the
// directory's .env unless COMPOSE_DISABLE_ENV_FILE, the process environment winning over it,
// ${VAR} interpolation (a `${VAR:?message}` left unset is an error), the Compose JSON schema,
// normalisation, the model's consistency checks (depends_on, networks, volumes, secrets naming
// things that exist), services' environment resolved, container names unique. It prints nothing
// and exits 0 for a valid file; otherwise the loader's error goes to stderr and it exits 1.
// test/integration/compose.test.ts builds it, so that the check runs where no docker compose
// plugin is installed (the project's machines, CI).
//
//	compose-config [project directory]   (default: the current directory)
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) > 1 {
		return fmt.Errorf("usage: compose-config [project directory]")
	}
	dir := "."
	if len(args) == 1 {
		dir = args[0]
	}
	// The options of docker compose's own project loading (cmd/compose/compose.go,
	// toProjectOptions) followed by those its `config` command adds (cmd/compose/config.go).
	options, err := cli.NewProjectOptions(nil,
		cli.WithWorkingDirectory(dir),
		cli.WithOsEnv,
		cli.WithEnvFiles(),
		cli.WithDotEnv,
		cli.WithConfigFileEnv,
		cli.WithDefaultConfigPath,
		cli.WithInterpolation(true),
		cli.WithResolvedPaths(true),
		cli.WithNormalization(true),
		cli.WithConsistency(true),
		cli.WithDefaultProfiles(),
		cli.WithDiscardEnvFile,
	)
	if err != nil {
		return err
	}
	if len(options.ConfigPaths) == 0 {
		return fmt.Errorf("no Compose file (compose.yaml, docker-compose.yml, ...) in %s or above", dir)
	}
	ctx := context.Background()
	project, err := options.LoadProject(ctx)
	if err != nil {
		return err
	}
	if project, err = project.WithServicesEnvironmentResolved(true); err != nil {
		return err
	}
	return project.CheckContainerNameUnicity()
}
