namespace Pipeline.Host.Cli;

/// <summary>One command-line option: its name, what it takes, its default and help text.</summary>
public sealed record OptionSpec(string Name, string Help, string? Default = null, bool IsFlag = false, bool Repeats = false, string? Metavar = null)
{
    public string Display => IsFlag ? $"--{Name}" : $"--{Name} {Metavar ?? Name.ToUpperInvariant().Replace('-', '_')}";
}

/// <summary>A command's usage: positional arguments and options.</summary>
public sealed record CommandSpec(string Name, string Summary, string[] Positionals, OptionSpec[] Options);
