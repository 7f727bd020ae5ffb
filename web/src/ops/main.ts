/** The ops console page (placeholder until the console lands). */
document.body.append('Flashcast ops');
