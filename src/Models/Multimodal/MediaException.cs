namespace Pipeline.Models.Multimodal;

/// <summary>
/// A media input that cannot be used (undecodable, unsupported format, too large, not allowed, timed out). The message
/// names the problem; the serving layers answer it with a 400 for that request alone.
/// </summary>
public sealed class MediaException(string message, Exception? inner = null) : ArgumentException(message, inner);
