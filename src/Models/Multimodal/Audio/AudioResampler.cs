namespace Pipeline.Models.Multimodal.Audio;

/// <summary>
/// Rational resampling as scipy.signal.resample_poly does it (vLLM's scipy resampler): the ratio reduced by its gcd,
/// a Kaiser-windowed (beta 5) low-pass FIR of 20 * max(up, down) + 1 taps cutting at 1 / max(up, down) of Nyquist,
/// scaled by up, applied polyphase with zero padding at both ends, and the output aligned to the filter's centre.
/// Computed in float64; the result is float32, as the feature extractor takes it.
/// </summary>
public static class AudioResampler
{
    public static float[] Resample(double[] x, int fromRate, int toRate)
    {
        if (fromRate <= 0 || toRate <= 0) throw new ArgumentOutOfRangeException(nameof(fromRate), "sample rates must be positive");
        int g = Gcd(fromRate, toRate), up = toRate / g, down = fromRate / g;
        if (up == 1 && down == 1) return Array.ConvertAll(x, v => (float)v);
        long nIn = x.Length;
        long nOut = (nIn * up + down - 1) / down;
        int maxRate = Math.Max(up, down), halfLen = 10 * maxRate;
        double[] h = FirWin(2 * halfLen + 1, 1.0 / maxRate, 5.0);
        for (int i = 0; i < h.Length; i++) h[i] *= up;
        // scipy pads the filter in front so that output sample 0 lands on the filter's centre
        int prePad = down - halfLen % down;
        long preRemove = (halfLen + prePad) / down;
        int taps = h.Length, offset = prePad; // h_padded[j] = h[j - prePad] for prePad <= j < prePad + taps
        var y = new float[nOut];
        Parallel.For(0, (int)((nOut + 4095) / 4096), blockIndex =>
        {
            long start = blockIndex * 4096L, end = Math.Min(nOut, start + 4096);
            for (long k = start; k < end; k++)
            {
                // y[k] = sum_i x[i] * hp[t - i*up], t = (k + preRemove) * down, 0 <= t - i*up - offset < taps
                long t = (k + preRemove) * down - offset;
                long iHi = Math.Min(nIn - 1, FloorDiv(t, up));
                long iLo = Math.Max(0, FloorDiv(t - taps + 1 + up - 1, up));
                double sum = 0;
                for (long i = iLo; i <= iHi; i++) sum += x[i] * h[t - i * up];
                y[k] = (float)sum;
            }
        });
        return y;
    }

    static long FloorDiv(long a, long b) => a >= 0 ? a / b : -((-a + b - 1) / b);

    static int Gcd(int a, int b) { while (b != 0) (a, b) = (b, a % b); return a; }

    /// <summary>scipy.signal.firwin(numtaps, cutoff, window=("kaiser", beta)) for a low-pass, scaled to unit gain at 0.</summary>
    internal static double[] FirWin(int numTaps, double cutoff, double beta)
    {
        var h = new double[numTaps];
        double alpha = 0.5 * (numTaps - 1), sum = 0, i0Beta = BesselI0(beta);
        for (int n = 0; n < numTaps; n++)
        {
            double m = n - alpha, arg = cutoff * m;
            double sinc = arg == 0 ? 1.0 : Math.Sin(Math.PI * arg) / (Math.PI * arg);
            double r = 2.0 * n / (numTaps - 1) - 1.0;
            double w = BesselI0(beta * Math.Sqrt(Math.Max(0, 1 - r * r))) / i0Beta;
            h[n] = cutoff * sinc * w;
            sum += h[n];
        }
        for (int n = 0; n < numTaps; n++) h[n] /= sum;
        return h;
    }

    /// <summary>The modified Bessel function of the first kind, order 0 (power series; converges fast for beta 5).</summary>
    static double BesselI0(double x)
    {
        double sum = 1, term = 1, q = x * x / 4;
        for (int k = 1; k < 200; k++)
        {
            term *= q / ((double)k * k);
            sum += term;
            if (term < sum * 1e-17) break;
        }
        return sum;
    }
}
