/** The host studio page (placeholder until the studio lands). */
document.body.append('Flashcast studio');
