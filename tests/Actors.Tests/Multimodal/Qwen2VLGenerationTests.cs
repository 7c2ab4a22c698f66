namespace Pipeline.Actors.Tests.Multimodal;

/// <summary>
/// The tiny random Qwen2-VL and Qwen2.5-VL (scripts/fixtures/make_vlm_fixtures.py) through the whole engine: the prompt
/// as the chat template rendered it plus the image files, expanded by the preprocessing code, the vision features put
/// in place of the placeholders and M-RoPE positions laid out by the runner; with a step budget of 5 the prefill chunks
/// cut through the image tokens and the two requests' decodes and prefill chunks share steps. Greedy tokens and top-5
/// logprobs are compared with transformers by vLLM's rule.
/// </summary>
public class Qwen2VLGenerationTests
{
    [Theory]
    [InlineData("qwen2-vl", 64)]
    [InlineData("qwen2-vl", 5)]
    [InlineData("qwen2.5-vl", 64)]
    [InlineData("qwen2.5-vl", 5)]
    public void One_and_two_image_chats_match_transformers(string model, int budget)
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "fixtures", "multimodal", "models", model);
        VisionFixtureRun.AssertMatchesTransformers(dir, model, budget);
    }
}
