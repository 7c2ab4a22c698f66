using System.Text;

namespace Pipeline.Host.Cli;

public static class HelpPrinter
{
    public static string Format(CommandSpec spec)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"usage: pipeline {spec.Name} {string.Join(" ", spec.Positionals)} [options]".TrimEnd());
        sb.AppendLine();
        sb.AppendLine(spec.Summary);
        sb.AppendLine();
        sb.AppendLine("options:");
        int width = spec.Options.Max(o => o.Display.Length) + 2;
        foreach (var o in spec.Options)
        {
            var dflt = o.IsFlag ? "" : o.Default != null ? $" (default: {o.Default})" : "";
            sb.AppendLine($"  {o.Display.PadRight(width)}{o.Help}{dflt}{(o.Repeats ? " [repeatable]" : "")}");
        }
        sb.AppendLine($"  {"--help".PadRight(width)}show this help");
        return sb.ToString();
    }
}
