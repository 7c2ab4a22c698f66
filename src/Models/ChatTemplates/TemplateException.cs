namespace Pipeline.Models.ChatTemplates;

/// <summary>A chat template failed to parse or render. <see cref="Line"/>/<see cref="Column"/> are 1-based, 0 when unknown.</summary>
public sealed class TemplateException : Exception
{
    public TemplateException(string reason, int line = 0, int column = 0, Exception? inner = null)
        : base(Format(reason, line, column), inner)
    {
        Reason = reason;
        Line = line;
        Column = column;
    }

    /// <summary>What went wrong, without the location.</summary>
    public string Reason { get; }
    public int Line { get; }
    public int Column { get; }

    private static string Format(string reason, int line, int column) =>
        line <= 0 ? reason
        : column <= 0 ? $"line {line}: {reason}"
        : $"line {line}, column {column}: {reason}";
}

/// <summary>A render-time failure not yet tied to a template location; the interpreter attaches one.</summary>
internal sealed class RenderError(string message) : Exception(message);
