namespace Pipeline.Actors.Tests.Multimodal;

/// <summary>
/// The tiny random Mistral3 and LLaVA-with-Pixtral (scripts/fixtures/vlm_families/pixtral.py) through the whole engine:
/// the rendered prompt plus the image files, expanded to rows of [IMG] tokens with [IMG_BREAK]/[IMG_END] between them,
/// the encoder's rows put in place of the [IMG] tokens only; with a step budget of 5 the prefill chunks cut through the
/// images (and start or end on break tokens; HTTP covers whole prefills). Greedy tokens and top-5 logprobs are compared with transformers by vLLM's rule.
/// </summary>
public class PixtralGenerationTests
{
    [Theory]
    [InlineData("mistral3", 5)]
    [InlineData("llava-pixtral", 5)]
    public void One_and_two_image_chats_match_transformers(string model, int budget)
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "fixtures", "multimodal", "models", model);
        VisionFixtureRun.AssertMatchesTransformers(dir, model, budget);
    }
}
