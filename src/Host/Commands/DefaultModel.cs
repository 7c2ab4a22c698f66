namespace Pipeline.Host.Commands;

/// <summary>
/// The model used when none is named: PIPELINE_MODEL, else the built-in pipeline-tiny-en (models/ in the repository,
/// copied beside the executable by the build).
/// </summary>
public static class DefaultModel
{
    public const string Name = "pipeline-tiny-en";

    /// <summary>
    /// The model a command runs: the MODEL argument when given, else <see cref="Path()"/>. The name pipeline-tiny-en
    /// means the built-in model unless a directory of that name exists where the command runs.
    /// </summary>
    public static string Resolve(IReadOnlyList<string> positionals)
    {
        if (positionals.Count == 0) return Path();
        var model = positionals[0];
        if (model == Name && !Directory.Exists(model) && BuiltIn() is string dir) return dir;
        return model;
    }

    /// <summary>Added to a model-not-found error so a new user learns the built-in model's name.</summary>
    public const string NotFoundHint = "The built-in model is " + Name + ": leave MODEL out or name it.";

    public static string Path()
    {
        var env = Environment.GetEnvironmentVariable("PIPELINE_MODEL");
        if (!string.IsNullOrEmpty(env)) return env;
        return BuiltIn() ?? throw new Cli.CliException(
            $"no model given and the built-in {Name} was not found beside the executable or under models/: " +
            "pass a model directory or Hugging Face model id (or set PIPELINE_MODEL)");
    }

    /// <summary>The built-in model's directory, or null when neither the build output nor a parent folder holds it.</summary>
    public static string? BuiltIn()
    {
        var beside = System.IO.Path.Combine(AppContext.BaseDirectory, "models", Name);
        if (File.Exists(System.IO.Path.Combine(beside, "config.json"))) return beside;
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir != null; dir = dir.Parent)
        {
            var candidate = System.IO.Path.Combine(dir.FullName, "models", Name);
            if (File.Exists(System.IO.Path.Combine(candidate, "config.json"))) return candidate;
        }
        return null;
    }
}
