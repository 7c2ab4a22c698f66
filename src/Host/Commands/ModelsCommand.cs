using Pipeline.Host.Cli;
using Pipeline.Models.Registry;

namespace Pipeline.Host.Commands;

/// <summary>`pipeline models --supported`: the architecture table.</summary>
public static class ModelsCommand
{
    public static readonly CommandSpec Spec = new("models", "List supported model architectures.", [],
    [
        new("supported", "print the table of supported architectures", IsFlag: true),
    ]);

    public static int Run(ParsedArgs args)
    {
        var rows = ModelRegistry.Supported.Select(e => (e.Architecture, e.Family, Tasks: string.Join(",", e.Tasks), e.ExampleModels)).ToList();
        int a = Math.Max(12, rows.Max(r => r.Architecture.Length)), f = Math.Max(6, rows.Max(r => r.Family.Length)), t = Math.Max(5, rows.Max(r => r.Tasks.Length));
        Console.WriteLine($"{"ARCHITECTURE".PadRight(a)}  {"FAMILY".PadRight(f)}  {"TASKS".PadRight(t)}  EXAMPLE MODELS");
        foreach (var r in rows) Console.WriteLine($"{r.Architecture.PadRight(a)}  {r.Family.PadRight(f)}  {r.Tasks.PadRight(t)}  {r.ExampleModels}");
        return 0;
    }
}
