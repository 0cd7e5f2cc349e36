//  BuildInfoPlugin.swift
//
//  Before every build, writes BuildInfo+Commit.swift into the plugin's work directory with the git commit the
//  package is built from: `git rev-parse --short=12 HEAD`, "-dirty" appended when tracked files differ from it,
//  or "unknown" where there is no git or no repository (a tarball). The file is rewritten only when its text
//  changes, so an unchanged commit recompiles nothing.

import PackagePlugin

@main
struct BuildInfoPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let output = context.pluginWorkDirectory.appending("generated")
        let file = output.appending("BuildInfo+Commit.swift")
        let script = """
            set -u
            cd "$1" || exit 0
            mkdir -p "$2"
            commit=$(git --no-optional-locks rev-parse --short=12 HEAD 2>/dev/null) || commit=unknown
            if [ "$commit" != unknown ] && ! git --no-optional-locks diff --quiet HEAD -- 2>/dev/null; then
              commit="$commit-dirty"
            fi
            text="// Written by BuildInfoPlugin before each build.
            extension BuildInfo {
                /// The git commit the tools were built from, or \\"unknown\\".
                public static let commit = \\"$commit\\"
            }"
            if [ ! -f "$3" ] || [ "$(cat "$3")" != "$text" ]; then printf '%s\\n' "$text" > "$3"; fi
            """
        return [.prebuildCommand(
            displayName: "Recording the git commit",
            executable: Path("/bin/sh"),
            arguments: ["-c", script, "sh", context.package.directory.string, output.string, file.string],
            outputFilesDirectory: output)]
    }
}
