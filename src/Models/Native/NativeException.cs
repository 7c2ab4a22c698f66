namespace Pipeline.Models.Native;

/// <summary>A call into libpipeline_native failed; the message is the library's own (pn_last_error).</summary>
public sealed class NativeException(string message, Exception? inner = null) : Exception(message, inner);
