using Pipeline.Host.Cli;
using Pipeline.Host.SupportedModels;

namespace Pipeline.Host.Commands;

/// <summary>
/// `pipeline models --supported`: every row of vLLM's supported-models tables with its status here (supported and by
/// which fixture, or not yet and why), the other built-in architectures, and those of loaded model plugins.
/// `--format markdown` prints docs/supported-models.md (without plugins).
/// </summary>
public static class ModelsCommand
{
    public static readonly CommandSpec Spec = new("models", "List supported model architectures.", [],
    [
        new("supported", "print the table of supported architectures", IsFlag: true),
        new("format", "text, or markdown (docs/supported-models.md)", "text"),
        .. CommonOptions.Plugins,
    ]);

    public static int Run(ParsedArgs args)
    {
        var format = args.Choice("format", "text", "markdown");
        Console.Out.Write(format == "markdown" ? Markdown() : Table());
        Console.Out.Flush();
        return 0;
    }

    /// <summary>The text table, plugin architectures included.</summary>
    public static string Table() => SupportedModelsFormat.Text(SupportedModelsTable.Rows(includePlugins: true));

    /// <summary>docs/supported-models.md: built-in architectures only, so it is the same in every process.</summary>
    public static string Markdown() => SupportedModelsFormat.Markdown(SupportedModelsTable.Rows(includePlugins: false));
}
