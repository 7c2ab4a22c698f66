using System.Text;
using Pipeline.Host.Cli;
using Pipeline.Models.Registry;

namespace Pipeline.Host.Commands;

/// <summary>`pipeline models --supported`: every architecture of both registries (generation and pooling), as the README's table.</summary>
public static class ModelsCommand
{
    public static readonly CommandSpec Spec = new("models", "List supported model architectures.", [],
    [
        new("supported", "print the table of supported architectures", IsFlag: true),
    ]);

    /// <summary>The row that says causal LMs also run as pooling models (`--runner pooling --convert`).</summary>
    public const string ConvertedRow = "any ...ForCausalLM above";

    public static int Run(ParsedArgs args)
    {
        Console.Out.Write(Table());
        Console.Out.Flush();
        return 0;
    }

    public static string Table()
    {
        var rows = ModelRegistry.Supported.Select(e => (e.Architecture, e.Family, Tasks: string.Join(",", e.Tasks), e.ExampleModels))
            .Concat(PoolingModelRegistry.Supported.Select(e => (e.Architecture, e.Family, Tasks: string.Join(",", e.Tasks), e.ExampleModels)))
            .Append((Architecture: ConvertedRow, Family: "decoder", Tasks: "embed,classify,reward", ExampleModels: "with --runner pooling --convert embed|classify|reward"))
            .ToList();
        int a = rows.Max(r => r.Architecture.Length), f = Math.Max(6, rows.Max(r => r.Family.Length)), t = rows.Max(r => r.Tasks.Length);
        var sb = new StringBuilder();
        sb.Append($"{"ARCHITECTURE".PadRight(a)}  {"FAMILY".PadRight(f)}  {"TASKS".PadRight(t)}  EXAMPLE MODELS\n");
        foreach (var r in rows) sb.Append($"{r.Architecture.PadRight(a)}  {r.Family.PadRight(f)}  {r.Tasks.PadRight(t)}  {r.ExampleModels}\n");
        return sb.ToString();
    }
}
