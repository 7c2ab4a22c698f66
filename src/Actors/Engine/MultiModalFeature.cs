using Pipeline.Models.Multimodal;

namespace Pipeline.Actors.Engine;

/// <summary>
/// A multimodal input (e.g. an image) occupying prompt positions [Offset, Offset + Length); its content
/// <see cref="Hash"/> becomes an extra key of every KV block it overlaps, so equal placeholder tokens with
/// different images never share cached blocks. <see cref="Image"/> holds the processed pixels for the model.
/// </summary>
public sealed record MultiModalFeature(string Hash, int Offset, int Length, ProcessedImage? Image = null);
