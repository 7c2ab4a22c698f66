using Pipeline.Models.Multimodal;

namespace Pipeline.Models.Runner;

/// <summary>An image of a request as the runner sees it: its placeholder positions [Offset, Offset + Length) and pixels.</summary>
public sealed record MultiModalInput(string Hash, int Offset, int Length, ProcessedImage Image);
