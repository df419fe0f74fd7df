"""Stage 1: article files (text, Markdown, web pages, PDFs) become documents of plain text,
split into paragraphs and sentences with their character offsets."""
