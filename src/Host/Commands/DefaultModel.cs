namespace Pipeline.Host.Commands;

/// <summary>The model used when none is named.</summary>
public static class DefaultModel
{
    public static string Path()
    {
        var env = Environment.GetEnvironmentVariable("PIPELINE_MODEL");
        if (!string.IsNullOrEmpty(env)) return env;
        throw new Cli.CliException("no model given: pass a model directory or Hugging Face model id (or set PIPELINE_MODEL)");
    }
}
