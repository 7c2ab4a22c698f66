namespace Pipeline.Host.Cli;

/// <summary>One command-line option: its name, what it takes, its default and help text.</summary>
/// <param name="Several">Takes several values after one flag (argparse's nargs='+'): the following arguments that look like
/// values of it (name=value or a JSON object), up to the next option.</param>
public sealed record OptionSpec(string Name, string Help, string? Default = null, bool IsFlag = false, bool Repeats = false, string? Metavar = null, bool Several = false)
{
    public string Display => IsFlag ? $"--{Name}" : $"--{Name} {Metavar ?? Name.ToUpperInvariant().Replace('-', '_')}";
}

/// <summary>A command's usage: positional arguments and options.</summary>
public sealed record CommandSpec(string Name, string Summary, string[] Positionals, OptionSpec[] Options);
