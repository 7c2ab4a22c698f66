namespace Pipeline.Models.Multimodal;

/// <summary>PIL's resampling filters, numbered as <c>PIL.Image.Resampling</c> (the <c>resample</c> field of a processor config).</summary>
public enum PilResampling { Nearest = 0, Lanczos = 1, Bilinear = 2, Bicubic = 3, Box = 4, Hamming = 5 }

/// <summary>
/// <c>PIL.Image.resize</c> on 8-bit RGB, bit for bit: the separable convolution of libImaging/Resample.c (coefficients
/// normalized per output pixel, then fixed point with 22 fraction bits; horizontal pass first, its result rounded to
/// 8 bits, then vertical), and for NEAREST the affine nearest-neighbour sampling of libImaging/Geometry.c.
/// Transformers' PIL image processors resize through PIL, so this is what makes their pixel values reproducible.
/// </summary>
public static class PilResize
{
    const int PrecisionBits = 32 - 8 - 2;

    public static RgbImage Resize(RgbImage src, int width, int height, PilResampling filter)
    {
        if (width <= 0 || height <= 0) throw new ArgumentException($"cannot resize to {width}x{height}");
        if (width == src.Width && height == src.Height) return new RgbImage(width, height, (byte[])src.Pixels.Clone());
        if (filter == PilResampling.Nearest) return Nearest(src, width, height);
        var (support, f) = Filter(filter);

        bool needH = width != src.Width, needV = height != src.Height;
        var (boundsV, kkV, ksizeV) = Coefficients(src.Height, height, support, f);
        var current = src;
        if (needH)
        {
            // Only the source rows the vertical pass reads are resampled horizontally (as PIL does).
            int first = boundsV[0], last = boundsV[(height - 1) * 2] + boundsV[(height - 1) * 2 + 1];
            if (!needV) (first, last) = (0, src.Height);
            var (boundsH, kkH, ksizeH) = Coefficients(src.Width, width, support, f);
            current = Horizontal(src, first, last - first, width, boundsH, kkH, ksizeH);
            if (needV) for (int i = 0; i < height; i++) boundsV[i * 2] -= first;
        }
        return needV ? Vertical(current, height, boundsV, kkV, ksizeV) : current;
    }

    static (double Support, Func<double, double> F) Filter(PilResampling filter) => filter switch
    {
        PilResampling.Box => (0.5, x => x > -0.5 && x <= 0.5 ? 1.0 : 0.0),
        PilResampling.Bilinear => (1.0, x => { x = Math.Abs(x); return x < 1.0 ? 1.0 - x : 0.0; }),
        PilResampling.Hamming => (1.0, x =>
        {
            if (x < 0.0) x = -x;
            if (x == 0.0) return 1.0;
            if (x >= 1.0) return 0.0;
            x *= Math.PI;
            return Math.Sin(x) / x * (0.54 + 0.46 * Math.Cos(x));
        }),
        PilResampling.Bicubic => (2.0, x =>
        {
            const double a = -0.5;
            if (x < 0.0) x = -x;
            if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
            if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
            return 0.0;
        }),
        PilResampling.Lanczos => (3.0, x => -3.0 <= x && x < 3.0 ? Sinc(x) * Sinc(x / 3) : 0.0),
        _ => throw new ArgumentException($"unknown resampling filter {(int)filter}"),
    };

    static double Sinc(double x)
    {
        if (x == 0.0) return 1.0;
        x *= Math.PI;
        return Math.Sin(x) / x;
    }

    /// <summary>libImaging's precompute_coeffs + normalize_coeffs_8bpc for the whole input range.</summary>
    static (int[] Bounds, int[] Kk, int KSize) Coefficients(int inSize, int outSize, double filterSupport, Func<double, double> filter)
    {
        double scale = (double)inSize / outSize, filterScale = Math.Max(scale, 1.0);
        double support = filterSupport * filterScale;
        int ksize = (int)Math.Ceiling(support) * 2 + 1;
        var bounds = new int[outSize * 2];
        var kk = new int[outSize * ksize];
        var k = new double[ksize];
        for (int xx = 0; xx < outSize; xx++)
        {
            double center = (xx + 0.5) * scale, ww = 0.0, ss = 1.0 / filterScale;
            int xmin = (int)(center - support + 0.5);
            if (xmin < 0) xmin = 0;
            int xmax = (int)(center + support + 0.5);
            if (xmax > inSize) xmax = inSize;
            xmax -= xmin;
            for (int x = 0; x < xmax; x++)
            {
                double w = filter((x + xmin - center + 0.5) * ss);
                k[x] = w;
                ww += w;
            }
            for (int x = 0; x < ksize; x++)
            {
                double v = x < xmax ? (ww != 0.0 ? k[x] / ww : k[x]) : 0.0;
                kk[xx * ksize + x] = v < 0 ? (int)(-0.5 + v * (1 << PrecisionBits)) : (int)(0.5 + v * (1 << PrecisionBits));
            }
            bounds[xx * 2] = xmin;
            bounds[xx * 2 + 1] = xmax;
        }
        return (bounds, kk, ksize);
    }

    static byte Clip8(int v) => v >= (1 << PrecisionBits << 8) ? (byte)255 : v <= 0 ? (byte)0 : (byte)(v >> PrecisionBits);

    static RgbImage Horizontal(RgbImage src, int firstRow, int rows, int width, int[] bounds, int[] kk, int ksize)
    {
        var dst = RgbImage.Blank(width, rows);
        byte[] s = src.Pixels, d = dst.Pixels;
        for (int yy = 0; yy < rows; yy++)
        {
            int rowIn = (yy + firstRow) * src.Width * 3, rowOut = yy * width * 3;
            for (int xx = 0; xx < width; xx++)
            {
                int xmin = bounds[xx * 2], xmax = bounds[xx * 2 + 1], kOff = xx * ksize;
                int s0 = 1 << (PrecisionBits - 1), s1 = s0, s2 = s0;
                for (int x = 0; x < xmax; x++)
                {
                    int k = kk[kOff + x], p = rowIn + (x + xmin) * 3;
                    s0 += s[p] * k; s1 += s[p + 1] * k; s2 += s[p + 2] * k;
                }
                int o = rowOut + xx * 3;
                d[o] = Clip8(s0); d[o + 1] = Clip8(s1); d[o + 2] = Clip8(s2);
            }
        }
        return dst;
    }

    static RgbImage Vertical(RgbImage src, int height, int[] bounds, int[] kk, int ksize)
    {
        int width = src.Width;
        var dst = RgbImage.Blank(width, height);
        byte[] s = src.Pixels, d = dst.Pixels;
        for (int yy = 0; yy < height; yy++)
        {
            int ymin = bounds[yy * 2], ymax = bounds[yy * 2 + 1], kOff = yy * ksize;
            for (int xx = 0; xx < width; xx++)
            {
                int s0 = 1 << (PrecisionBits - 1), s1 = s0, s2 = s0;
                for (int y = 0; y < ymax; y++)
                {
                    int k = kk[kOff + y], p = ((y + ymin) * width + xx) * 3;
                    s0 += s[p] * k; s1 += s[p + 1] * k; s2 += s[p + 2] * k;
                }
                int o = (yy * width + xx) * 3;
                d[o] = Clip8(s0); d[o + 1] = Clip8(s1); d[o + 2] = Clip8(s2);
            }
        }
        return dst;
    }

    /// <summary>ImagingScaleAffine: source coordinate accumulated in double from the first pixel's center.</summary>
    static RgbImage Nearest(RgbImage src, int width, int height)
    {
        double ax = (double)src.Width / width, ay = (double)src.Height / height;
        var xin = new int[width];
        double xo = ax * 0.5;
        for (int x = 0; x < width; x++, xo += ax) xin[x] = Math.Min((int)xo, src.Width - 1);
        var dst = RgbImage.Blank(width, height);
        double yo = ay * 0.5;
        for (int y = 0; y < height; y++, yo += ay)
        {
            int yi = Math.Min((int)yo, src.Height - 1);
            for (int x = 0; x < width; x++)
                Buffer.BlockCopy(src.Pixels, (yi * src.Width + xin[x]) * 3, dst.Pixels, (y * width + x) * 3, 3);
        }
        return dst;
    }
}
